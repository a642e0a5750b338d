/* The control server's internals shared by its files: the server, its clients, owed replies, the handler type. */
#ifndef MP_TOOLS_MPISCSID_CTL_INT_H
#define MP_TOOLS_MPISCSID_CTL_INT_H

#include <ev.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/admission.h"
#include "tools/ctl/ctl_proto.h"
#include "tools/mpiscsid/ctl_server.h"

struct ctl_client {
	ev_io io;                   /* first: io_cb casts back */
	ev_timer timer;             /* stall and idle timeouts, checked lazily */
	struct mp_ctl *ctl;
	struct ctl_client *prev, *next;
	struct mp_admit_entry pend; /* in ctl->adm while it has sent no complete request: may be evicted */
	ev_tstamp accepted;         /* a pending client must send its request by accepted + MP_CTL_PENDING_TIMEOUT */
	int fd;
	bool eof;                   /* the peer closed its sending side */
	bool close_after_reply;     /* the stream cannot be resynchronised */
	ev_tstamp last_progress;
	struct mp_ctl_later *later; /* a request whose reply comes later: the client waits for it */
	char *out;                  /* the reply being sent, or NULL */
	size_t out_len, out_off;
	size_t in_len;
	char in[MP_CTL_MAX_REQUEST];
};

struct mp_ctl {
	struct mp_listener *lst;    /* the socket (its file removed only if still ours) and accept back-off */
	struct ev_loop *loop;
	struct mp_ctl_model model;
	struct ctl_client *clients;
	unsigned n_clients;
	/* Clients that have not sent a complete request yet, oldest first: the oldest is closed when
	 * a newcomer finds adm.max_pending (MP_CTL_MAX_PENDING unless set) or adm.max_clients
	 * (MP_CTL_MAX_CLIENTS unless set) reached. adm.no_budget: test hook MP_CTL_TEST_NO_BUDGET_ENV. */
	struct mp_admit adm;
	struct ctl_client *serving; /* the client whose request is being handled (for a later reply) */
	struct mp_ctl_later *laters; /* replies owed, also to clients gone (their outcome is dropped) */
};

/* A reply owed (ctl_server.h). */
struct mp_ctl_later {
	struct mp_ctl *ctl;
	struct ctl_client *c;       /* NULL once the client is gone */
	struct mp_ctl_later *prev, *next;
	void (*cancel)(void *arg);
	void *cancel_arg;
};

/* A JSON string, or JSON null for NULL. */
static inline json_object *str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

/* One command: 0 with *data (may stay NULL) for success, -1 with err, 1 when it took a later
 * reply (mp_ctl_later_*_done answers it). */
typedef int ctl_handler_fn(struct mp_ctl *ctl, const struct mp_ctl_request *req, json_object **data,
			   struct mp_ctl_error *err);

/* ---- tools/mpiscsid/ctl_show.c: the show, path and group commands ---- */
int cmd_show_disks(struct mp_ctl *ctl, const struct mp_ctl_request *req, json_object **data,
			  struct mp_ctl_error *err);
int cmd_show_paths(struct mp_ctl *ctl, const struct mp_ctl_request *req, json_object **data,
			  struct mp_ctl_error *err);
int cmd_show_maps(struct mp_ctl *ctl, const struct mp_ctl_request *req MP_UNUSED, json_object **data,
			 struct mp_ctl_error *err MP_UNUSED);
int cmd_path_control(struct mp_ctl *ctl, const struct mp_ctl_request *req, json_object **data,
			    struct mp_ctl_error *err);
int cmd_switchgroup(struct mp_ctl *ctl, const struct mp_ctl_request *req, json_object **data,
			   struct mp_ctl_error *err);
int cmd_version(struct mp_ctl *ctl MP_UNUSED, const struct mp_ctl_request *req MP_UNUSED,
		       json_object **data, struct mp_ctl_error *err MP_UNUSED);
int cmd_show_sessions(struct mp_ctl *ctl, const struct mp_ctl_request *req MP_UNUSED, json_object **data,
			     struct mp_ctl_error *err);
int cmd_show_config(struct mp_ctl *ctl, const struct mp_ctl_request *req MP_UNUSED, json_object **data,
			   struct mp_ctl_error *err);

#endif
