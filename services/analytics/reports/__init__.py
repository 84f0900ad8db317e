"""Plant reports (issue 8, item 6): a site's day or month as PDF or CSV, in English or Korean."""
