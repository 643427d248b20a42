#ifndef CASEBOOK_CLMDB_SHIM_H
#define CASEBOOK_CLMDB_SHIM_H
#include <lmdb.h>
#endif
