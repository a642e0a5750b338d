build-e2e/obj/transport/nbd/nbd_psk.o: transport/nbd/nbd_psk.c \
 transport/nbd/nbd_psk.h common/util.h
transport/nbd/nbd_psk.h:
common/util.h:
