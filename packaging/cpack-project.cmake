# CPACK_PROJECT_CONFIG_FILE: read by cpack once per generator, with CPACK_GENERATOR set.
# Installs the default component plus the systemd unit in the place that package format uses:
# /lib/systemd/system on Debian 12 (.deb), /usr/lib/systemd/system on RPM distributions.
if(CPACK_GENERATOR STREQUAL "DEB")
  set(_fep_unit fep_unit_deb)
elseif(CPACK_GENERATOR STREQUAL "RPM")
  set(_fep_unit fep_unit_rpm)
else()
  set(_fep_unit fep_unit_rpm)
endif()
set(CPACK_INSTALL_CMAKE_PROJECTS
  "${CPACK_FEP_BUILD_DIR};fep-agent;Unspecified;/"
  "${CPACK_FEP_BUILD_DIR};fep-agent;${_fep_unit};/")
unset(_fep_unit)
