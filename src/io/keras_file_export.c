/* keras_file_export.c - writing a model as a Keras 3 .keras file: a zip of
 * config.json (lam_model_to_json, Keras 3's form), metadata.json and
 * model.weights.h5 (layers/<snake_class>[_N][/<sub>]/vars/<i>, the layout
 * keras_file.c reads and Keras 3's saving_lib expects). The HDF5 file is
 * built in memory (HDF5's core driver, no backing store) and the archive in a
 * libzip memory source; the bytes reach the file through lam_write_atomic.
 * The optimizer is not written: Keras opens the model uncompiled. */
#include "io/keras_file.h"
#include "model.h"

#include <string.h>

#if defined(LAMINA_HAVE_HDF5) && defined(LAMINA_HAVE_ZIP)
#include <hdf5.h>
#include <zip.h>

/* Creates group path (and the groups above it) unless it exists; sets the
 * "name" attribute Keras writes on each vars group when name is given. */
static lam_status make_group(hid_t f, const char *path, const char *name)
{
    char part[400];
    for (const char *p = path; ; p++) {
        if (*p != '/' && *p) continue;
        size_t n = (size_t)(p - path);
        if (n >= sizeof part) return lam_error(LAM_ERR_ARG, "HDF5 path %s is too long", path);
        memcpy(part, path, n);
        part[n] = 0;
        if (n && H5Lexists(f, part, H5P_DEFAULT) <= 0) {
            hid_t g = H5Gcreate2(f, part, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
            if (g < 0) return lam_error(LAM_ERR_IO, "cannot create HDF5 group %s", part);
            H5Gclose(g);
        }
        if (!*p) break;
    }
    if (!name) return LAM_OK;
    hid_t g = H5Gopen2(f, path, H5P_DEFAULT);
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate(H5S_SCALAR);
    hid_t a = -1;
    herr_t e = -1;
    if (g >= 0 && t >= 0 && sp >= 0 && H5Tset_size(t, H5T_VARIABLE) >= 0 &&
        H5Tset_cset(t, H5T_CSET_UTF8) >= 0 &&
        (a = H5Acreate2(g, "name", t, sp, H5P_DEFAULT, H5P_DEFAULT)) >= 0)
        e = H5Awrite(a, t, &name);
    if (a >= 0) H5Aclose(a);
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    if (g >= 0) H5Gclose(g);
    return e < 0 ? lam_error(LAM_ERR_IO, "cannot write the name of HDF5 group %s", path) : LAM_OK;
}

static lam_status write_floats(hid_t f, const char *path, int rank, const int64_t *shape,
                               const float *data)
{
    hsize_t dims[4];
    for (int i = 0; i < rank; i++) dims[i] = (hsize_t)shape[i];
    hid_t sp = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
    hid_t d = sp >= 0 ? H5Dcreate2(f, path, H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT,
                                   H5P_DEFAULT) : -1;
    herr_t e = d >= 0 ? H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) : -1;
    if (d >= 0) H5Dclose(d);
    if (sp >= 0) H5Sclose(sp);
    return e < 0 ? lam_error(LAM_ERR_IO, "cannot write HDF5 dataset %s", path) : LAM_OK;
}

/* Every layer's vars group, in the config's layer order. */
static lam_status write_weights(const lam_model *m, hid_t f, const cJSON *cfg)
{
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cfg, "config"), "layers");
    if (!cJSON_IsArray(layers))
        return lam_error(LAM_ERR_STATE, "model \"%s\": its JSON has no layer list", m->name);
    char(*kname)[160] = NULL;
    LAM_TRY(lam_keras3_layer_paths(layers, &kname));
    lam_status st = make_group(f, "vars", m->name);
    int li = 0;
    for (const cJSON *l = layers->child; st == LAM_OK && l; l = l->next, li++) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(l, "config"), "name");
        if (!kname[li][0] || !cJSON_IsString(name)) continue;
        const lam_node *nd = NULL;
        for (int i = 0; i < m->n && !nd; i++)
            if (m->nodes[i].owner == i && strcmp(m->nodes[i].spec.name, name->valuestring) == 0)
                nd = &m->nodes[i];
        char g[400];
        snprintf(g, sizeof g, "layers/%s/vars", kname[li]);
        if (!nd || nd->ntensors == 0) {
            st = make_group(f, g, name->valuestring);
            continue;
        }
        const char *subs[4];
        int counts[4];
        int nsub = lam_keras3_weight_groups(nd, subs, counts), t = 0;
        for (int s = 0; st == LAM_OK && s < nsub; s++) {
            snprintf(g, sizeof g, "layers/%s%s/vars", kname[li], subs[s]);
            st = make_group(f, g, name->valuestring);
            for (int i = 0; st == LAM_OK && i < counts[s]; i++, t++) {
                const lam_param_desc *d = &nd->tensors[t];
                char dpath[420];
                snprintf(dpath, sizeof dpath, "%s/%d", g, i);
                st = write_floats(f, dpath, d->rank, d->shape,
                                  (d->trainable ? m->params : m->state) + d->offset);
            }
        }
    }
    lam_free(kname);
    return st;
}

/* model.weights.h5 as bytes (*buf: lam_free). */
static lam_status weights_image(const lam_model *m, const cJSON *cfg, unsigned char **buf,
                                size_t *size)
{
    *buf = NULL;
    H5E_auto2_t fn;
    void *fd;
    H5Eget_auto2(H5E_DEFAULT, &fn, &fd);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    hid_t f = -1;
    if (fapl >= 0 && H5Pset_fapl_core(fapl, 1 << 16, 0) >= 0)
        f = H5Fcreate("lamina-export.weights.h5", H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (fapl >= 0) H5Pclose(fapl);
    lam_status st = f >= 0 ? write_weights(m, f, cfg)
                           : lam_error(LAM_ERR_IO, "cannot create an HDF5 file in memory");
    ssize_t n = -1;
    if (st == LAM_OK && H5Fflush(f, H5F_SCOPE_GLOBAL) >= 0) n = H5Fget_file_image(f, NULL, 0);
    if (st == LAM_OK && n <= 0) st = lam_error(LAM_ERR_IO, "cannot take the HDF5 image");
    if (st == LAM_OK && !(*buf = lam_malloc((size_t)n))) st = LAM_ERR_NOMEM;
    if (st == LAM_OK && H5Fget_file_image(f, *buf, (size_t)n) != n)
        st = lam_error(LAM_ERR_IO, "cannot take the HDF5 image");
    if (f >= 0) H5Fclose(f);
    H5Eset_auto2(H5E_DEFAULT, fn, fd);
    if (st != LAM_OK) {
        lam_free(*buf);
        *buf = NULL;
        return st;
    }
    *size = (size_t)n;
    return LAM_OK;
}

/* The archive of the three members as bytes (*buf: lam_free). */
static lam_status archive(const char *config, const char *meta, const unsigned char *weights,
                          size_t wsize, unsigned char **buf, size_t *size)
{
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *mem = zip_source_buffer_create(NULL, 0, 0, &ze);
    zip_t *z = NULL;
    lam_status st = LAM_OK;
    if (mem) {
        zip_source_keep(mem); /* it outlives the archive: the bytes are read from it */
        z = zip_open_from_source(mem, ZIP_TRUNCATE, &ze);
    }
    const char *names[3] = {"metadata.json", "config.json", "model.weights.h5"};
    const void *data[3] = {meta, config, weights};
    size_t lens[3] = {strlen(meta), strlen(config), wsize};
    for (int k = 0; z && k < 3 && st == LAM_OK; k++) {
        zip_source_t *s = zip_source_buffer(z, data[k], lens[k], 0);
        if (!s || zip_file_add(z, names[k], s, ZIP_FL_ENC_UTF_8) < 0) {
            zip_source_free(s);
            st = lam_error(LAM_ERR_IO, "cannot add %s to the archive: %s", names[k],
                           zip_strerror(z));
        }
    }
    if (!z) st = lam_error(LAM_ERR_IO, "cannot make a zip archive: %s", zip_error_strerror(&ze));
    else if (st != LAM_OK) zip_discard(z);
    else if (zip_close(z) < 0) {
        st = lam_error(LAM_ERR_IO, "cannot write the zip archive: %s", zip_strerror(z));
        zip_discard(z);
    }
    zip_error_fini(&ze);
    zip_stat_t zs;
    *buf = NULL;
    if (st == LAM_OK && (zip_source_stat(mem, &zs) < 0 || !(zs.valid & ZIP_STAT_SIZE) ||
                         zip_source_open(mem) < 0))
        st = lam_error(LAM_ERR_IO, "cannot read the zip archive back from memory");
    else if (st == LAM_OK) {
        *buf = lam_malloc((size_t)zs.size + 1);
        if (!*buf) st = LAM_ERR_NOMEM;
        else if (zip_source_read(mem, *buf, zs.size) != (zip_int64_t)zs.size)
            st = lam_error(LAM_ERR_IO, "cannot read the zip archive back from memory");
        zip_source_close(mem);
        *size = (size_t)zs.size;
    }
    zip_source_free(mem);
    if (st != LAM_OK) {
        lam_free(*buf);
        *buf = NULL;
    }
    return st;
}

typedef struct bytes {
    const unsigned char *p;
    size_t n;
} bytes;

static lam_status write_bytes(FILE *f, void *user)
{
    const bytes *b = user;
    return fwrite(b->p, 1, b->n, f) == b->n ? LAM_OK : lam_error(LAM_ERR_IO, "write failed");
}

lam_status lam_model_export_keras(const lam_model *m, const char *path)
{
    if (!m || !path) return lam_error(LAM_ERR_ARG, "lam_model_export_keras: NULL argument");
    if (!m->compiled || !m->params)
        return lam_error(LAM_ERR_STATE, "model \"%s\": compile (or load) it before exporting: "
                         "an uncompiled model has no weights", m->name);
    char *json = NULL;
    unsigned char *w = NULL, *zipped = NULL;
    size_t wn = 0, zn = 0;
    cJSON *cfg = NULL;
    lam_status st = lam_model_to_json(m, &json);
    if (st == LAM_OK && !(cfg = cJSON_Parse(json)))
        st = lam_error(LAM_ERR_NOMEM, "out of memory parsing the model's JSON");
    if (st == LAM_OK) st = weights_image(m, cfg, &w, &wn);
    /* Keras reads keras_version only to warn about files newer than itself. */
    static const char meta[] = "{\"keras_version\": \"3.0.0\", \"date_saved\": \"\", "
                               "\"written_by\": \"lamina\"}";
    if (st == LAM_OK) st = archive(json, meta, w, wn, &zipped, &zn);
    if (st == LAM_OK) st = lam_write_atomic(path, write_bytes, &(bytes){zipped, zn});
    free(json);
    cJSON_Delete(cfg);
    lam_free(w);
    lam_free(zipped);
    if (st != LAM_OK && !strstr(lam_last_error(), path)) lam_error_context(st, "%s", path);
    return st;
}

#else

lam_status lam_model_export_keras(const lam_model *m, const char *path)
{
    (void)m;
    return lam_error(LAM_ERR_UNSUPPORTED, "%s: writing .keras files needs libhdf5 and libzip, "
                     "and this lamina was built without them: install libhdf5-dev and "
                     "libzip-dev (scripts/install-deps.sh) and rebuild", path ? path : "(null)");
}
#endif
