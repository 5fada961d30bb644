/* npy.h - the internal .npy writer shared by the tests and the command line.
 * (Reading is public: lam_load_npy in lamina.h.) */
#ifndef LAM_IO_NPY_H
#define LAM_IO_NPY_H

#include "internal.h"

/* Writes a C-order little-endian float32 array ('<f4', format version 1.0)
 * atomically (lam_write_atomic). rank 1..8; shape[i] >= 0; data holds the
 * product of shape values (may be NULL when that product is 0). */
lam_status lam_npy_write_f32(const char *path, int rank, const int64_t *shape,
                             const float *data);

#endif
