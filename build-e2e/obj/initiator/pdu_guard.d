build-e2e/obj/initiator/pdu_guard.o: initiator/pdu_guard.c \
 initiator/pdu_guard.h common/util.h
initiator/pdu_guard.h:
common/util.h:
