build-e2e/obj/initiator/discovery.o: initiator/discovery.c \
 initiator/discovery.h initiator/chap.h common/log.h common/util.h
initiator/discovery.h:
initiator/chap.h:
common/log.h:
common/util.h:
