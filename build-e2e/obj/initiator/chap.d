build-e2e/obj/initiator/chap.o: initiator/chap.c initiator/chap.h
initiator/chap.h:
