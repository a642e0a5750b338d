build-e2e/obj/initiator/report_luns.o: initiator/report_luns.c \
 initiator/report_luns.h common/util.h
initiator/report_luns.h:
common/util.h:
