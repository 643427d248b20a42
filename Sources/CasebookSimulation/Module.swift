/// A synthetic city driven through the case engine: the data behind `casebook demo` and demo-sized test stores.
enum CasebookSimulationModule {}
