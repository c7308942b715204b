# Arrow/Parquet C++ with S3: a system Arrow if CMake finds one, else the headers
# and shared libraries of the pyarrow wheel in the project venv (.venv).
# Defines the targets pfad::arrow, pfad::parquet and pfad::arrow_s3.

find_package(Arrow CONFIG QUIET)
find_package(Parquet CONFIG QUIET)
if(Arrow_FOUND AND Parquet_FOUND AND TARGET Arrow::arrow_shared)
  message(STATUS "Arrow: system ${Arrow_VERSION}")
  add_library(pfad::arrow ALIAS Arrow::arrow_shared)
  add_library(pfad::parquet ALIAS Parquet::parquet_shared)
  if(TARGET ArrowS3::arrow_s3_shared)
    add_library(pfad::arrow_s3 ALIAS ArrowS3::arrow_s3_shared)
  else()
    add_library(pfad::arrow_s3 INTERFACE IMPORTED)  # S3 lives in libarrow before Arrow 22
  endif()
  return()
endif()

set(PFAD_PYTHON "${PROJECT_SOURCE_DIR}/.venv/bin/python" CACHE FILEPATH
    "Python of the venv holding the pinned pyarrow wheel")
if(NOT EXISTS "${PFAD_PYTHON}")
  message(FATAL_ERROR "No system Arrow and no ${PFAD_PYTHON}: run scripts/setup.sh first")
endif()
execute_process(
  COMMAND "${PFAD_PYTHON}" -c
    "import pyarrow as pa, os; print(pa.get_include()); print(os.path.dirname(pa.__file__)); print(pa.__version__)"
  OUTPUT_VARIABLE _pa_out RESULT_VARIABLE _pa_rc OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT _pa_rc EQUAL 0)
  message(FATAL_ERROR "pyarrow is not importable from ${PFAD_PYTHON}: run scripts/setup.sh")
endif()
string(REPLACE "\n" ";" _pa_out "${_pa_out}")
list(GET _pa_out 0 PFAD_ARROW_INCLUDE)
list(GET _pa_out 1 _pa_dir)
list(GET _pa_out 2 _pa_version)
# Resolve the venv symlink so the rpath names the real location.
get_filename_component(PFAD_ARROW_LIBDIR "${_pa_dir}" REALPATH)
string(REGEX MATCH "^([0-9]+)\\.([0-9]+)" _ "${_pa_version}")
math(EXPR _so "${CMAKE_MATCH_1} * 100 + ${CMAKE_MATCH_2}")
message(STATUS "Arrow: pyarrow ${_pa_version} wheel in ${PFAD_ARROW_LIBDIR}")

function(_pfad_wheel_lib target file)
  if(NOT EXISTS "${PFAD_ARROW_LIBDIR}/${file}.so.${_so}")
    message(FATAL_ERROR "${PFAD_ARROW_LIBDIR}/${file}.so.${_so} not found")
  endif()
  add_library(${target} SHARED IMPORTED GLOBAL)
  set_target_properties(${target} PROPERTIES
    IMPORTED_LOCATION "${PFAD_ARROW_LIBDIR}/${file}.so.${_so}"
    IMPORTED_NO_SONAME FALSE)
  # SYSTEM: Arrow's headers are not ours to warn about.
  target_include_directories(${target} SYSTEM INTERFACE "${PFAD_ARROW_INCLUDE}")
endfunction()
_pfad_wheel_lib(pfad::arrow libarrow)
_pfad_wheel_lib(pfad::parquet libparquet)
_pfad_wheel_lib(pfad::arrow_s3 libarrow_s3)
set_property(TARGET pfad::parquet PROPERTY INTERFACE_LINK_LIBRARIES pfad::arrow)
set_property(TARGET pfad::arrow_s3 PROPERTY INTERFACE_LINK_LIBRARIES pfad::arrow)
# Built binaries find the wheel's libraries without LD_LIBRARY_PATH.
set(CMAKE_BUILD_RPATH "${PFAD_ARROW_LIBDIR}")
set(CMAKE_INSTALL_RPATH "${PFAD_ARROW_LIBDIR}")
