// The developer guide is static; like every signed-in page it shows the retention banner when due.
import { startShell } from "../lib/shell.js";

startShell();
