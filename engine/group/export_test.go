package group

// EntryOverhead exposes entryOverhead to the external tests, which size
// budgets in entries.
const EntryOverhead = entryOverhead
