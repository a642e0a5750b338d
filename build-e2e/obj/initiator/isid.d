build-e2e/obj/initiator/isid.o: initiator/isid.c initiator/isid.h
initiator/isid.h:
