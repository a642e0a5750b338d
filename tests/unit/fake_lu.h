/* A one-path LU already attached, on a fake clock: the disk behind a front end in front-end unit tests. */
#ifndef MP_TESTS_FAKE_LU_H
#define MP_TESTS_FAKE_LU_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "mpath/lu.h"
#include "mpath/path.h"
#include "tests/unit/fake_clock.h"

/* LU "d0" (2048 blocks of 512 bytes, designator naa.1) with path "p0" (ops) attached and up.
 * Logs only errors. The caller frees the LU with mp_lu_free. */
static inline struct mp_lu *fake_lu_attached(struct fake_clock *fc, struct mp_path *path,
					     const struct mp_path_ops *ops)
{
	mp_log_set_level(MP_LOG_ERR);
	fake_clock_init(fc);
	struct mp_lu_opts o;
	mp_lu_opts_default(&o);
	struct mp_lu *lu = mp_lu_new("d0", &fc->clock, &o);
	cr_assert_not_null(lu);
	memset(path, 0, sizeof(*path));
	path->ops = ops;
	snprintf(path->name, sizeof(path->name), "p0");
	struct mp_lu_info in;
	memset(&in, 0, sizeof(in));
	snprintf(in.designator, sizeof(in.designator), "naa.1");
	in.block_size = 512;
	in.num_blocks = 2048;
	char err[256];
	mp_lu_add_path(lu, path);
	cr_assert_eq(mp_lu_path_attached(lu, path, &in, err, sizeof(err)), 0, "%s", err);
	return lu;
}

#endif
