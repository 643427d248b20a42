// Tests of CasebookExport.
