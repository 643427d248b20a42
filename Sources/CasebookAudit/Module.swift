/// Investigators' tools: replaying a case with explanations, diffs between points, what-if runs against another
/// definition, and self-contained evidence bundles verifiable without the store.
enum CasebookAuditModule {}
