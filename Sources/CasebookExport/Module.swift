// CasebookExport: auditors' queries over the projections, standing audit reports, as-of answers and
// the SQLite export of the projections and the log.
