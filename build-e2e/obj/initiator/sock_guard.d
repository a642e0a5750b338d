build-e2e/obj/initiator/sock_guard.o: initiator/sock_guard.c \
 initiator/sock_guard.h initiator/pdu_guard.h
initiator/sock_guard.h:
initiator/pdu_guard.h:
