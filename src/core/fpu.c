/* fpu.c - denormal floats flushed to zero while lamina computes.
 *
 * Gradients that shrink towards zero become denormal, and on x86 every
 * operation on a denormal takes a slow microcode path: a recurrent layer's
 * backward pass was seen to run 7x slower. TensorFlow flushes denormals in
 * its threads too. The calling thread's mode is restored on return; the
 * OpenMP worker threads keep flushing (they are set once per team size). */
#include "internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#define LAM_FTZ_DAZ 0x8040u /* MXCSR flush-to-zero | denormals-are-zero */

static int lam_ftz_team; /* the largest OpenMP team already set */

unsigned lam_fpu_flush_begin(void)
{
    const unsigned saved = _mm_getcsr();
    const int team = lam_get_threads();
    if (team > lam_ftz_team) {
        #pragma omp parallel num_threads(team)
        _mm_setcsr(_mm_getcsr() | LAM_FTZ_DAZ);
        lam_ftz_team = team;
    }
    _mm_setcsr(saved | LAM_FTZ_DAZ);
    return saved;
}

void lam_fpu_flush_end(unsigned saved) { _mm_setcsr(saved); }
#else
unsigned lam_fpu_flush_begin(void) { return 0; }
void lam_fpu_flush_end(unsigned saved) { (void)saved; }
#endif
