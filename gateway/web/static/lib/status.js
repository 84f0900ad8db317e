// The page's status line (live connection, failures), announced politely to screen readers.
export function say(text) { document.getElementById("status").textContent = text; }
