/* libFuzzer target: rtnetlink messages through mp_linkmon_parse(), with its documented result contract. */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>

#include "initiator/linkmon.h"
#include "tests/fuzz/fuzz_common.h"

/*
 * The input is one receive buffer as recvmsg() fills it (the fuzzer's data is
 * a fresh heap block, aligned like the daemon's buffer). All messages in it
 * are walked the way the daemon walks a datagram, each parsed with the
 * datagram's remaining length, and the first also with exactly the input size.
 */
static void check_one(const void *buf, size_t len)
{
	struct mp_link_msg m, untouched;
	memset(&m, 0xa5, sizeof(m));
	untouched = m;
	errno = 0;
	int rc = mp_linkmon_parse(buf, len, &m);
	switch (rc) {
	case -1:
		FUZZ_CHECK(errno == EINVAL);
		break;
	case 0:
		FUZZ_CHECK(memcmp(&m, &untouched, sizeof(m)) == 0);
		FUZZ_CHECK(len >= sizeof(struct nlmsghdr));
		{
			const struct nlmsghdr *h = buf;
			FUZZ_CHECK(h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != RTM_DELLINK);
		}
		break;
	case 1: {
		const struct nlmsghdr *h = buf;
		FUZZ_CHECK(h->nlmsg_type == RTM_NEWLINK || h->nlmsg_type == RTM_DELLINK);
		FUZZ_CHECK(h->nlmsg_len <= len);
		FUZZ_CHECK(m.del == (h->nlmsg_type == RTM_DELLINK));
		FUZZ_CHECK(m.ifindex > 0);
		FUZZ_CHECK(fuzz_terminated(m.ifname, sizeof(m.ifname)) && m.ifname[0] != '\0');
		FUZZ_CHECK(m.operstate >= -1 && m.operstate <= 255);
		FUZZ_CHECK(m.up == (!m.del && mp_link_is_up(m.flags, m.operstate)));
		break;
	}
	default:
		FUZZ_CHECK(!"undocumented return value");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	void *buf = fuzz_dup(data, size);
	check_one(buf, size);

	/* The daemon's datagram loop (NLMSG_OK / NLMSG_NEXT), written with size_t arithmetic. */
	size_t off = 0;
	for (int count = 0; count < 64 && size - off >= sizeof(struct nlmsghdr); count++) {
		const struct nlmsghdr *h = (const void *)((const uint8_t *)buf + off);
		size_t l = h->nlmsg_len;
		if (l < sizeof(*h) || l > size - off)
			break;
		check_one(h, l);
		if (NLMSG_ALIGN(l) >= size - off)
			break;
		off += NLMSG_ALIGN(l);
	}
	free(buf);
	return 0;
}
