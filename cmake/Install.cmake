# Installation to standard paths and Debian packages (CPack), one package per
# program: rozgar-server (headquarters) and rozgar-node (a centre PC).  Each
# ships its own share directory (<prefix>/share/<program>, common/paths.h), so
# the two packages never own the same file.
include(GNUInstallDirs)

install(TARGETS rozgar-server RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT server)
install(TARGETS rozgar-node RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT node)

# Web assets: the dashboard for the server, the centre app (web/node) for the node.
install(DIRECTORY web/ DESTINATION ${CMAKE_INSTALL_DATADIR}/rozgar-server/web
        COMPONENT server PATTERN "node" EXCLUDE)
if(EXISTS ${CMAKE_SOURCE_DIR}/web/node)
  install(DIRECTORY web/node/ DESTINATION ${CMAKE_INSTALL_DATADIR}/rozgar-node/web/node
          COMPONENT node)
endif()
# Reference data (the places list) for both.
if(EXISTS ${CMAKE_SOURCE_DIR}/data)
  install(DIRECTORY data/ DESTINATION ${CMAKE_INSTALL_DATADIR}/rozgar-server/data COMPONENT server)
  install(DIRECTORY data/ DESTINATION ${CMAKE_INSTALL_DATADIR}/rozgar-node/data COMPONENT node)
endif()

install(FILES man/rozgar-server.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT server)
install(FILES man/rozgar-node.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT node)
install(FILES README.md proto/PROTOCOL.md DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/rozgar-server
        COMPONENT server)
install(FILES README.md proto/PROTOCOL.md DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/rozgar-node
        COMPONENT node)

# systemd units (<prefix>/lib/systemd/system: /usr/lib/systemd/system on Debian).
file(GLOB RZ_SERVER_UNITS ${CMAKE_SOURCE_DIR}/dist/systemd/rozgar-server*)
file(GLOB RZ_NODE_UNITS ${CMAKE_SOURCE_DIR}/dist/systemd/rozgar-node*)
set(RZ_UNIT_DIR lib/systemd/system CACHE STRING "Where systemd units are installed")
install(FILES ${RZ_SERVER_UNITS} DESTINATION ${RZ_UNIT_DIR} COMPONENT server)
if(RZ_NODE_UNITS)
  install(FILES ${RZ_NODE_UNITS} DESTINATION ${RZ_UNIT_DIR} COMPONENT node)
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME rozgar-sync)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "Rozgar Sync developers <rozgar-sync@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Offline-first data sync for freelancer-training centres")
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL server node)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_SERVER_PACKAGE_NAME rozgar-server)
set(CPACK_DEBIAN_NODE_PACKAGE_NAME rozgar-node)
# The dashboard draws its charts with Debian's Chart.js.
set(CPACK_DEBIAN_SERVER_PACKAGE_DEPENDS "libjs-chart.js")
set(CPACK_COMPONENT_SERVER_DESCRIPTION
    "Rozgar Sync central server\n Verifies and stores the signed change-logs of centre nodes, merges them\n into national totals and serves the headquarters dashboard.")
set(CPACK_COMPONENT_NODE_DESCRIPTION
    "Rozgar Sync centre node\n Records freelancers, training events and attendance offline at a centre\n and replicates its signed change-log to the central server.")
include(CPack)
