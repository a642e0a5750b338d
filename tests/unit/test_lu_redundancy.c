/* Unit tests of the LU's redundancy audit wiring (mpath/lu_redundancy.c): re-audit on every change, one warning and one notice per condition, fake paths, a fake clock and a fake sysfs tree. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "mpath/lu.h"
#include "mpath/redundancy.h"
#include "tests/unit/fake_clock.h"

#define BS 512u
#define P1 "198.18.1.2:3260"
#define P2 "198.18.2.2:3260"
#define B(c) MP_SPOF_BIT(MP_SPOF_##c)
#define ONE_PATH (B(SINGLE_PATH) | B(SINGLE_NIC) | B(ACTIVE_NIC) | B(SINGLE_CARD) | B(SINGLE_PORTAL))

/* A fake path: commands are queued and never completed (these tests send no I/O to paths). */
struct fake_path {
	struct mp_path path;
	int submits;
};

static struct fake_clock fc;
static char root[64];     /* fake sysfs root */
static char logfile[96];  /* stderr of the test process, where the core's log lines go */

static int fake_submit(struct mp_path *path, struct mp_scsi_cmd *cmd MP_UNUSED)
{
	mp_container_of(path, struct fake_path, path)->submits++;
	errno = ENOTCONN;
	return -1;
}

static const struct mp_path_ops fake_ops = { .kind = "fake", .submit = fake_submit };

static void fp_init(struct fake_path *fp, uint32_t id, const char *iface, const char *portal, int32_t prio)
{
	memset(fp, 0, sizeof(*fp));
	fp->path.ops = &fake_ops;
	fp->path.id = id;
	fp->path.prio = prio;
	snprintf(fp->path.iface, sizeof(fp->path.iface), "%s", iface);
	snprintf(fp->path.portal, sizeof(fp->path.portal), "%s", portal);
	snprintf(fp->path.name, sizeof(fp->path.name), "%s->%s", iface, portal);
}

static void attach(struct mp_lu *lu, struct fake_path *fp)
{
	struct mp_lu_info in;
	char err[256];
	memset(&in, 0, sizeof(in));
	snprintf(in.designator, sizeof(in.designator), "naa.1");
	in.block_size = BS;
	in.num_blocks = 4096;
	if (fp->path.lu != lu)
		mp_lu_add_path(lu, &fp->path); /* first time; later calls bring it back up */
	cr_assert_eq(mp_lu_path_attached(lu, &fp->path, &in, err, sizeof(err)), 0, "%s", err);
}

static void nic(const char *name, const char *link)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/class", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/class/net", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/class/net/%s", root, name);
	cr_assert_eq(mkdir(path, 0755), 0, "mkdir %s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/class/net/%s/device", root, name);
	cr_assert_eq(symlink(link, path), 0, "symlink %s: %s", path, strerror(errno));
}

static void setup(void)
{
	mp_log_set_level(MP_LOG_INFO);
	fake_clock_init(&fc);
	snprintf(root, sizeof(root), "/tmp/test_lu_redundancy.XXXXXX");
	cr_assert_not_null(mkdtemp(root));
	nic("eth1", "../../../0000:03:00.0"); /* eth1 and eth2: the two ports of one card */
	nic("eth2", "../../../0000:03:00.1");
	nic("eth3", "../../../0000:04:00.0"); /* another card */
	/* The core logs to stderr: send it to a file the test reads back. */
	snprintf(logfile, sizeof(logfile), "%s.log", root);
	int fd = open(logfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
}

static int rm_one(const char *path, const struct stat *st MP_UNUSED, int flag MP_UNUSED, struct FTW *f MP_UNUSED)
{
	return remove(path);
}

static void teardown(void)
{
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	unlink(logfile);
}

TestSuite(lu_redundancy, .init = setup, .fini = teardown);

static struct mp_lu *new_lu(void)
{
	struct mp_lu_opts o;
	char tmp[64];
	mp_lu_opts_default(&o);
	/* The LU keeps its own copy: this buffer goes away. */
	snprintf(tmp, sizeof(tmp), "%s", root);
	o.sysfs_root = tmp;
	o.marginal_flaps = 0; /* no damping: these tests flip paths on purpose */
	struct mp_lu *lu = mp_lu_new("d0", &fc.clock, &o);
	memset(tmp, 'x', sizeof(tmp) - 1);
	cr_assert_not_null(lu);
	return lu;
}

static unsigned mask_of(const struct mp_lu *lu)
{
	static struct mp_redundancy v;
	cr_assert_eq(mp_lu_redundancy(lu, &v), 0);
	return v.mask;
}

/* How many log lines contain needle. */
static int count(const char *needle)
{
	char line[2048];
	int n = 0;
	fflush(stderr);
	FILE *f = fopen(logfile, "r");
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			n++;
	fclose(f);
	return n;
}

static void settle(void) { fake_clock_advance(&fc, MP_LU_REDUNDANCY_SETTLE_MS + 1100); }

#define WARN_NIC1 "disk d0: redundancy: every usable path leaves through eth1\n" /* the whole line */
#define RESTORED(name) "disk d0: redundancy restored: " name " no longer holds"

/* Paths a (id 1, NIC ifa, portal P1, prio pa) and b (id 2, ifb, P2, pb) attached to lu, in that order. */
static void attach_two(struct mp_lu *lu, struct fake_path *a, const char *ifa, int32_t pa, struct fake_path *b,
		       const char *ifb, int32_t pb)
{
	fp_init(a, 1, ifa, P1, pa);
	fp_init(b, 2, ifb, P2, pb);
	attach(lu, a);
	attach(lu, b);
}

/* Both paths leave (b first), then the LU is freed. */
static void free_two(struct mp_lu *lu, struct fake_path *a, struct fake_path *b)
{
	mp_lu_remove_path(lu, &b->path);
	mp_lu_remove_path(lu, &a->path);
	mp_lu_free(lu);
}

Test(lu_redundancy, a_new_disk_says_no_path_and_logs_nothing)
{
	struct mp_lu *lu = new_lu();
	cr_assert_eq(mask_of(lu), B(NO_PATH));
	settle();
	cr_assert_eq(count("redundancy"), 0);
	struct mp_redundancy v;
	cr_assert_eq(mp_lu_redundancy(NULL, &v), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(mp_lu_redundancy(lu, NULL), -1);
	mp_lu_free(lu);
}

Test(lu_redundancy, verdict_follows_at_once_logs_once_settled)
{
	struct mp_lu *lu = new_lu();
	struct fake_path a, b;
	fp_init(&a, 1, "eth1", P1, 0);
	fp_init(&b, 2, "eth3", P2, 0);
	attach(lu, &a);
	/* The verdict is taken at the change; the log waits for the settle time. */
	cr_assert_eq(mask_of(lu), ONE_PATH);
	fake_clock_advance(&fc, MP_LU_REDUNDANCY_SETTLE_MS / 2);
	cr_assert_eq(count("redundancy"), 0, "logged before the verdict settled");
	settle();
	cr_assert_eq(count("disk d0: redundancy: only one usable path: through eth1 to " P1), 1);
	cr_assert_eq(count(WARN_NIC1), 1);
	cr_assert_eq(count("disk d0: redundancy: every usable path of the active group leaves through eth1"), 1);
	cr_assert_eq(count("disk d0: redundancy: every usable path goes to portal " P1), 1);
	cr_assert_eq(count("disk d0: redundancy: every usable path leaves through eth1, on card 0000:03:00"), 1);
	cr_assert_eq(count("[warn]: disk d0: redundancy:"), 5);
	cr_assert_eq(count(RESTORED("no_path")), 0, "no_path was never warned about");

	attach(lu, &b); /* eth3 is on another card, P2 another portal */
	cr_assert_eq(mask_of(lu), 0);
	settle();
	cr_assert_eq(count(RESTORED("single_path")), 1);
	cr_assert_eq(count(RESTORED("single_nic")), 1);
	cr_assert_eq(count(RESTORED("active_group_single_nic")), 1);
	cr_assert_eq(count(RESTORED("single_card")), 1);
	cr_assert_eq(count(RESTORED("single_portal")), 1);
	cr_assert_eq(count("[info]: disk d0: redundancy restored:"), 5);
	settle();
	cr_assert_eq(count("redundancy"), 10, "a settled verdict is logged once");

	free_two(lu, &a, &b);
}

Test(lu_redundancy, one_warning_per_condition_across_many_changes)
{
	struct mp_lu *lu = new_lu();
	struct fake_path a, b, c, e;
	fp_init(&a, 1, "eth1", P1, 0);
	fp_init(&b, 2, "eth1", P2, 0);
	fp_init(&c, 3, "eth1", P1, 0);
	fp_init(&e, 4, "eth3", P2, 0);
	attach(lu, &a);
	attach(lu, &b);
	settle();
	cr_assert_eq(mask_of(lu), B(SINGLE_NIC) | B(ACTIVE_NIC) | B(SINGLE_CARD));
	cr_assert_eq(count(WARN_NIC1), 1);
	/* Changes that keep single_nic: a third path on eth1, paths down and up, an operator's fail. */
	attach(lu, &c);
	settle();
	mp_lu_path_down(lu, &a.path, "test");
	settle();
	attach(lu, &a);
	mp_lu_path_admin_fail(lu, &c.path);
	settle();
	mp_lu_path_reinstate(lu, &c.path);
	settle();
	cr_assert_eq(count(WARN_NIC1), 1, "single_nic warned again while it held all along");
	cr_assert_eq(count("redundancy"), 3, "only the three conditions of the start were logged");
	/* b alone for a moment (not settled): no single_path in the log */
	mp_lu_path_down(lu, &a.path, "test");
	mp_lu_path_admin_fail(lu, &c.path);
	cr_assert(mask_of(lu) & B(SINGLE_PATH));
	mp_lu_path_reinstate(lu, &c.path);
	attach(lu, &a);
	settle();
	cr_assert_eq(count("only one usable path"), 0, "a verdict that did not settle was logged");

	/* A path through eth3 ends it: one notice each; failing it makes it start again. */
	attach(lu, &e);
	settle();
	cr_assert_eq(mask_of(lu), 0);
	cr_assert_eq(count(RESTORED("single_nic")), 1);
	cr_assert_eq(count(RESTORED("single_card")), 1);
	mp_lu_path_admin_fail(lu, &e.path);
	settle();
	cr_assert_eq(count(WARN_NIC1), 2);
	mp_lu_path_reinstate(lu, &e.path);
	settle();
	cr_assert_eq(count(RESTORED("single_nic")), 2);
	cr_assert_eq(count(RESTORED("single_portal")), 0, "single_portal never held");

	mp_lu_remove_path(lu, &e.path);
	mp_lu_remove_path(lu, &c.path);
	free_two(lu, &a, &b);
}

Test(lu_redundancy, paths_that_come_up_together_log_nothing)
{
	struct mp_lu *lu = new_lu();
	struct fake_path a, b;
	fp_init(&a, 1, "eth1", P1, 0);
	fp_init(&b, 2, "eth3", P2, 0);
	/* The housekeeping tick runs every second from the LU's birth: a comes up 50 ms before one,
	 * b 50 ms after it. The tick in between must not log a's lonely moment. */
	fake_clock_advance(&fc, 950);
	attach(lu, &a);
	fake_clock_advance(&fc, 100);
	cr_assert(mask_of(lu) & B(SINGLE_PATH));
	attach(lu, &b);
	settle();
	cr_assert_eq(mask_of(lu), 0);
	cr_assert_eq(count("redundancy"), 0, "a disk starting up logged a passing single path");
	free_two(lu, &a, &b);
}

Test(lu_redundancy, ports_of_one_card_from_sysfs)
{
	struct mp_lu *lu = new_lu();
	struct fake_path a, b;
	attach_two(lu, &a, "eth1", 0, &b, "eth2", 0);
	settle();
	cr_assert_eq(mask_of(lu), B(SINGLE_CARD));
	cr_assert_eq(count("disk d0: redundancy: eth1 and eth2 are ports of one card (0000:03:00)"), 1);
	free_two(lu, &a, &b);
}

Test(lu_redundancy, active_group_is_the_group_that_takes_io)
{
	struct mp_lu *lu = new_lu();
	struct fake_path a, b;
	attach_two(lu, &a, "eth1", 50, &b, "eth3", 10); /* the better group: eth1 alone */
	cr_assert_eq(mask_of(lu), B(ACTIVE_NIC));
	/* The operator moves I/O to the other group: its NIC is eth3 now (still one NIC). */
	cr_assert_eq(mp_lu_switch_group(lu, 10), 0);
	settle();
	cr_assert_eq(mask_of(lu), B(ACTIVE_NIC));
	cr_assert_eq(count("disk d0: redundancy: every usable path of the active group leaves through eth3"), 1);
	/* eth3's path goes down: selection falls back to group 50, judged as it would be. */
	mp_lu_path_down(lu, &b.path, "test");
	cr_assert_eq(mask_of(lu), ONE_PATH);
	free_two(lu, &a, &b);
}

static void req_done(struct mp_blk_req *req MP_UNUSED, int err MP_UNUSED) {}
static void drained(struct mp_lu *lu MP_UNUSED, void *arg) { ++*(int *)arg; }

Test(lu_redundancy, a_draining_disk_logs_nothing)
{
	struct mp_lu *lu = new_lu();
	struct fake_path a, b;
	int calls = 0;
	static uint8_t buf[BS];
	attach_two(lu, &a, "eth1", 0, &b, "eth3", 0);
	settle();
	/* Both paths go while a request waits and the disk drains: as the daemon removes a disk. */
	mp_lu_path_down(lu, &a.path, "test");
	mp_lu_path_down(lu, &b.path, "test");
	struct mp_blk_req r = { .op = MP_BLK_READ, .offset = 0, .len = BS, .buf = buf, .done = req_done };
	cr_assert_eq(mp_lu_submit(lu, &r), 0);
	mp_lu_drain(lu, drained, &calls);
	settle();
	cr_assert_eq(calls, 0);
	cr_assert_eq(mask_of(lu), B(NO_PATH));
	cr_assert_eq(count("redundancy"), 0, "a draining disk logged its paths going");
	free_two(lu, &a, &b);
}

Test(lu_redundancy, all_paths_down_warns_no_path_and_its_return_clears_it)
{
	struct mp_lu *lu = new_lu();
	struct fake_path a, b;
	attach_two(lu, &a, "eth1", 0, &b, "eth3", 0);
	settle();
	mp_lu_path_down(lu, &a.path, "test");
	mp_lu_path_down(lu, &b.path, "test");
	settle();
	cr_assert_eq(count("disk d0: redundancy: no usable path: none of its 2 paths can take I/O"), 1);
	cr_assert_eq(count("[warn]: disk d0: redundancy:"), 1, "no_path alone (nothing else is judged)");
	attach(lu, &a);
	attach(lu, &b);
	settle();
	cr_assert_eq(count(RESTORED("no_path")), 1);
	free_two(lu, &a, &b);
}
