# install.cmake - what `cmake --install` (and `make install`) puts where:
#   lib/liblamina.so.0.1.0 (soname liblamina.so.0), liblamina.a
#   include/lamina*.h
#   bin/lamina
#   lib/pkgconfig/lamina.pc
#   lib/cmake/lamina/laminaConfig.cmake (+ Version, Targets): find_package(lamina)
#   share/man/man1/lamina.1, share/bash-completion/completions/lamina
# Included by CMakeLists.txt after the targets are defined.

include(CMakePackageConfigHelpers)

set(LAMINA_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/lamina)

install(TARGETS lamina_shared lamina_static EXPORT laminaTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
file(GLOB LAMINA_PUBLIC_HEADERS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/include/lamina*.h)
install(FILES ${LAMINA_PUBLIC_HEADERS} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# The optional libraries this build has, for both package files: a program
# linking the static library statically needs them too. Each is NAME:module:
# the pkg-config module behind the imported target PkgConfig::NAME that the
# build linked; the package config looks the same ones up
# (LAMINA_PKG_MODULES, "NAME module" lines).
set(LAMINA_PC_REQUIRES_PRIVATE "zlib libcjson libpng")
set(LAMINA_PKG_MODULES "")
foreach(lib CAIRO:cairo:LAMINA_PLOT_LIBS SODIUM:libsodium:LAMINA_CRYPTO_LIBS
            PROTOBUFC:libprotobuf-c:LAMINA_ONNX_LIBS HDF5:hdf5-serial:LAMINA_HDF5_LIBS
            ZIP:libzip:LAMINA_ZIP_LIBS)
  string(REPLACE ":" ";" parts ${lib})
  list(GET parts 0 name)
  list(GET parts 1 module)
  list(GET parts 2 var)
  if(${var})
    string(APPEND LAMINA_PC_REQUIRES_PRIVATE " ${module}")
    string(APPEND LAMINA_PKG_MODULES "lamina_find_module(${name} ${module})\n")
  endif()
endforeach()
set(LAMINA_WITH_MPI OFF)
if(LAMINA_MPI_LIBS)
  string(APPEND LAMINA_PC_REQUIRES_PRIVATE " ompi-c")
  set(LAMINA_WITH_MPI ON)
endif()

# pkg-config: written at install time, so that its prefix is the one given
# to `cmake --install --prefix` (which may differ from the configured one).
install(CODE "
  set(PROJECT_VERSION \"${PROJECT_VERSION}\")
  set(LAMINA_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  set(CMAKE_INSTALL_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
  set(CMAKE_INSTALL_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
  set(LAMINA_PC_REQUIRES_PRIVATE \"${LAMINA_PC_REQUIRES_PRIVATE}\")
  set(OpenMP_C_FLAGS \"${OpenMP_C_FLAGS}\")
  configure_file(\"${CMAKE_SOURCE_DIR}/cmake/lamina.pc.in\" \"${CMAKE_BINARY_DIR}/lamina.pc\" @ONLY)
")
install(FILES ${CMAKE_BINARY_DIR}/lamina.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# CMake: relocatable (paths relative to the installed config file).
install(EXPORT laminaTargets NAMESPACE lamina:: DESTINATION ${LAMINA_CMAKE_DIR})
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/laminaConfig.cmake.in
                              ${CMAKE_BINARY_DIR}/laminaConfig.cmake
                              INSTALL_DESTINATION ${LAMINA_CMAKE_DIR})
# Before 1.0 a minor version may change the API: same minor version only.
write_basic_package_version_file(${CMAKE_BINARY_DIR}/laminaConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/laminaConfig.cmake ${CMAKE_BINARY_DIR}/laminaConfigVersion.cmake
        DESTINATION ${LAMINA_CMAKE_DIR})

# The command, its man page and its bash completion, both made from the
# command's own --help text by scripts/, so they never disagree with it.
if(TARGET lamina)
  install(TARGETS lamina RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  add_custom_command(
    OUTPUT ${CMAKE_BINARY_DIR}/lamina.1
    COMMAND sh ${CMAKE_SOURCE_DIR}/scripts/make_manpage.sh $<TARGET_FILE:lamina>
            ${PROJECT_VERSION} > ${CMAKE_BINARY_DIR}/lamina.1.tmp
    COMMAND ${CMAKE_COMMAND} -E rename ${CMAKE_BINARY_DIR}/lamina.1.tmp ${CMAKE_BINARY_DIR}/lamina.1
    DEPENDS lamina ${CMAKE_SOURCE_DIR}/scripts/make_manpage.sh
    COMMENT "Generating lamina.1 from lamina --help" VERBATIM)
  add_custom_command(
    OUTPUT ${CMAKE_BINARY_DIR}/lamina.bash-completion
    COMMAND sh ${CMAKE_SOURCE_DIR}/scripts/make_completion.sh $<TARGET_FILE:lamina>
            > ${CMAKE_BINARY_DIR}/lamina.bash-completion.tmp
    COMMAND ${CMAKE_COMMAND} -E rename ${CMAKE_BINARY_DIR}/lamina.bash-completion.tmp
            ${CMAKE_BINARY_DIR}/lamina.bash-completion
    DEPENDS lamina ${CMAKE_SOURCE_DIR}/scripts/make_completion.sh
    COMMENT "Generating bash completion from lamina --help" VERBATIM)
  add_custom_target(lamina_help_files ALL
                    DEPENDS ${CMAKE_BINARY_DIR}/lamina.1 ${CMAKE_BINARY_DIR}/lamina.bash-completion)
  install(FILES ${CMAKE_BINARY_DIR}/lamina.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
  install(FILES ${CMAKE_BINARY_DIR}/lamina.bash-completion
          DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/bash-completion/completions RENAME lamina)
endif()
