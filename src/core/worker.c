/* worker.c - a pthread that runs posted jobs one at a time.
 *
 * A persistent thread with a mutex and two condition variables rather than a
 * thread per job: a training step of a small model lasts well under a
 * millisecond, and creating a thread costs tens of microseconds. OpenMP is
 * not used here because the job must run while the caller's own OpenMP
 * parallel regions (the step) run, not inside them.
 */
#include "core/worker.h"

#include <pthread.h>
#include <string.h>

struct lam_worker {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t posted, done;
    void (*fn)(void *);
    void *arg;
    bool busy, quit;
};

static void *worker_main(void *p)
{
    lam_worker *w = p;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->busy && !w->quit) pthread_cond_wait(&w->posted, &w->mu);
        if (!w->busy) break; /* quit with no job left */
        pthread_mutex_unlock(&w->mu);
        w->fn(w->arg);
        pthread_mutex_lock(&w->mu);
        w->busy = false;
        pthread_cond_signal(&w->done);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

lam_status lam_worker_start(lam_worker **out)
{
    *out = NULL;
    lam_worker *w = lam_calloc(1, sizeof *w);
    if (!w) return LAM_ERR_NOMEM;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->posted, NULL);
    pthread_cond_init(&w->done, NULL);
    int e = pthread_create(&w->thread, NULL, worker_main, w);
    if (e != 0) {
        pthread_cond_destroy(&w->done);
        pthread_cond_destroy(&w->posted);
        pthread_mutex_destroy(&w->mu);
        lam_free(w);
        return lam_error(LAM_ERR_NOMEM, "cannot start a background thread: %s", strerror(e));
    }
    *out = w;
    return LAM_OK;
}

void lam_worker_post(lam_worker *w, void (*fn)(void *), void *arg)
{
    pthread_mutex_lock(&w->mu);
    w->fn = fn;
    w->arg = arg;
    w->busy = true;
    pthread_cond_signal(&w->posted);
    pthread_mutex_unlock(&w->mu);
}

void lam_worker_wait(lam_worker *w)
{
    pthread_mutex_lock(&w->mu);
    while (w->busy) pthread_cond_wait(&w->done, &w->mu);
    pthread_mutex_unlock(&w->mu);
}

void lam_worker_stop(lam_worker *w)
{
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    w->quit = true;
    pthread_cond_signal(&w->posted);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->done);
    pthread_cond_destroy(&w->posted);
    pthread_mutex_destroy(&w->mu);
    lam_free(w);
}
