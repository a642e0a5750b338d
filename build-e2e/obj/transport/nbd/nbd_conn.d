build-e2e/obj/transport/nbd/nbd_conn.o: transport/nbd/nbd_conn.c \
 transport/nbd/nbd_int.h common/unix_listen.h mpath/lu.h common/clock.h \
 mpath/path.h mpath/scsi_cmd.h transport/nbd/nbd_addr.h \
 transport/nbd/nbd_proto.h transport/nbd/nbd_server.h \
 transport/nbd/nbd_tls.h common/log.h common/util.h
transport/nbd/nbd_int.h:
common/unix_listen.h:
mpath/lu.h:
common/clock.h:
mpath/path.h:
mpath/scsi_cmd.h:
transport/nbd/nbd_addr.h:
transport/nbd/nbd_proto.h:
transport/nbd/nbd_server.h:
transport/nbd/nbd_tls.h:
common/log.h:
common/util.h:
