build-e2e/obj/transport/nbd/nbd_addr.o: transport/nbd/nbd_addr.c \
 transport/nbd/nbd_addr.h
transport/nbd/nbd_addr.h:
