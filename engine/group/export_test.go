package group

// EntryOverhead exposes entryOverhead to the external tests, which size
// budgets in entries.
const EntryOverhead = entryOverhead

// SetTestHookLoadStarted sets the hook a load runs between its re-check of
// the caches and its fetch.
func (g *Group) SetTestHookLoadStarted(f func(key string)) { g.testHookLoadStarted = f }
