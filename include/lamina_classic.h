/*
 * lamina_classic.h - traditional models beside deep ones: SVM, decision tree,
 * random forest, linear models. Included by lamina.h; do not include alone.
 */
#ifndef LAMINA_CLASSIC_H
#define LAMINA_CLASSIC_H

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif

#endif
