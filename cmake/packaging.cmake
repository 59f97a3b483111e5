# Packages: `cpack -G DEB` and `cpack -G RPM` in the build folder (after building) make
# fep-agent_<version>-1_<arch>.deb and fep-agent-<version>-1.<arch>.rpm. Contents and scripts:
# packaging/README.md; what they must hold: tests/packaging/expected-*.txt.
#
# Everything below installs into the default component; the systemd unit is in one component per
# package format (Debian 12 keeps units in /lib/systemd/system, RPM distributions in
# /usr/lib/systemd/system) and packaging/cpack-project.cmake picks the one that goes in.
# A plain `cmake --install` installs no unit and writes /etc/fep-agent/agent.yaml.

set(FEP_PKG_DIR ${CMAKE_CURRENT_LIST_DIR}/../packaging)
get_filename_component(FEP_PKG_DIR ${FEP_PKG_DIR} ABSOLUTE)
get_filename_component(FEP_PKG_ROOT ${CMAKE_CURRENT_LIST_DIR}/.. ABSOLUTE)

# --- what is installed ------------------------------------------------------------------------
# fep-agent: install(TARGETS) in agent/app/CMakeLists.txt (bin).
install(TARGETS exchange-sim RUNTIME DESTINATION bin)

install(FILES ${FEP_PKG_DIR}/agent.yaml
  DESTINATION /etc/fep-agent
  PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

install(FILES ${FEP_PKG_ROOT}/systemd/fep-agent.service
  DESTINATION /lib/systemd/system COMPONENT fep_unit_deb EXCLUDE_FROM_ALL)
install(FILES ${FEP_PKG_ROOT}/systemd/fep-agent.service
  DESTINATION lib/systemd/system COMPONENT fep_unit_rpm EXCLUDE_FROM_ALL)

set(FEP_DOC_DIR share/doc/fep-agent)
install(FILES
  ${FEP_PKG_ROOT}/README.md
  ${FEP_PKG_ROOT}/docs/install.md
  ${FEP_PKG_ROOT}/docs/configuration.md
  ${FEP_PKG_ROOT}/docs/databases.md
  ${FEP_PKG_ROOT}/docs/protocol.md
  DESTINATION ${FEP_DOC_DIR})
install(FILES ${FEP_PKG_ROOT}/docs/zh-CN/install.md DESTINATION ${FEP_DOC_DIR}/zh-CN)
install(FILES
  ${FEP_PKG_ROOT}/config-samples/agent.yaml
  ${FEP_PKG_ROOT}/config-samples/dm.yaml
  ${FEP_PKG_ROOT}/config-samples/folder.yaml
  ${FEP_PKG_ROOT}/config-samples/kingbase.yaml
  ${FEP_PKG_ROOT}/config-samples/mariadb.yaml
  ${FEP_PKG_ROOT}/config-samples/multi-resource.yaml
  ${FEP_PKG_ROOT}/config-samples/postgresql.yaml
  DESTINATION ${FEP_DOC_DIR}/examples)

# --- common package metadata ------------------------------------------------------------------
set(CPACK_PACKAGE_NAME fep-agent)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "fep-agent")
set(CPACK_PACKAGE_CONTACT "fep-agent maintainers <fep-agent@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "government data exchange front-end agent (前置机同步代理)")
set(CPACK_PACKAGE_DESCRIPTION
  "fep-agent runs on a department's or county's front-end machine. It pulls the table and
folder resources the node subscribes to from the city data-sharing exchange platform,
applies them to local databases (through unixODBC) and folders, and sends the platform a
receipt for every batch. The package also holds exchange-sim, the reference exchange, for
trials and tests.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_GENERATOR DEB RPM)
set(CPACK_SOURCE_GENERATOR "")
# packaging/cpack-project.cmake reads these at package time.
set(CPACK_FEP_BUILD_DIR ${CMAKE_BINARY_DIR})
set(CPACK_PROJECT_CONFIG_FILE ${FEP_PKG_DIR}/cpack-project.cmake)

# --- .deb -------------------------------------------------------------------------------------
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "ca-certificates")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "libsqliteodbc, odbc-postgresql, odbc-mariadb")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${FEP_PKG_DIR}/deb/conffiles
  ${FEP_PKG_DIR}/deb/postinst
  ${FEP_PKG_DIR}/deb/prerm
  ${FEP_PKG_DIR}/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# --- .rpm -------------------------------------------------------------------------------------
set(CPACK_RPM_FILE_NAME RPM-DEFAULT)
set(CPACK_RPM_PACKAGE_RELEASE 1)
set(CPACK_RPM_PACKAGE_GROUP "Applications/System")
set(CPACK_RPM_PACKAGE_DESCRIPTION "${CPACK_PACKAGE_DESCRIPTION}")
set(CPACK_PACKAGE_RELOCATABLE OFF)
# No /usr/lib/.build-id links: the package has no -debuginfo companion to point them at.
set(CPACK_RPM_SPEC_MORE_DEFINE "%define _build_id_links none")
set(CPACK_RPM_PACKAGE_REQUIRES_PRE "/usr/sbin/useradd, /usr/sbin/groupadd")
set(CPACK_RPM_USER_FILELIST "%config(noreplace) /etc/fep-agent/agent.yaml")
set(CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION /usr/lib/systemd /usr/lib/systemd/system)
set(CPACK_RPM_PRE_INSTALL_SCRIPT_FILE ${FEP_PKG_DIR}/rpm/pre.sh)
set(CPACK_RPM_POST_INSTALL_SCRIPT_FILE ${FEP_PKG_DIR}/rpm/post.sh)
set(CPACK_RPM_PRE_UNINSTALL_SCRIPT_FILE ${FEP_PKG_DIR}/rpm/preun.sh)
set(CPACK_RPM_POST_UNINSTALL_SCRIPT_FILE ${FEP_PKG_DIR}/rpm/postun.sh)

include(CPack)
