build-e2e/obj/common/log.o: common/log.c common/log.h common/util.h
common/log.h:
common/util.h:
