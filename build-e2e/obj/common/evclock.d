build-e2e/obj/common/evclock.o: common/evclock.c common/evclock.h \
 common/clock.h common/util.h
common/evclock.h:
common/clock.h:
common/util.h:
