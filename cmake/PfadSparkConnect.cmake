# The Spark Connect client's protocol, generated at build time from the installed pyspark:
# its *_pb2.py modules embed the serialized .proto descriptors (pyspark ships no .proto
# files); cmake/spark_connect_descriptors.py turns them into a FileDescriptorSet, Debian's
# protoc + grpc_cpp_plugin generate C++ from it into the build dir. Nothing is copied into
# the repository, so the client always speaks the protocol of the pinned pyspark.
# Defines pfad::spark_connect_proto (generated messages + gRPC stubs, Debian protobuf/gRPC).
#
# Protobuf ABI: only Debian's libprotobuf/libgrpc++ are linked. The pyarrow wheel's
# libarrow_flight / libarrow_substrait carry their own protobuf and gRPC and are never
# linked into pfad; libarrow itself keeps its bundled protobuf hidden (its only exported
# google::protobuf symbols are template instances over its OpenTelemetry types).

find_package(PkgConfig REQUIRED)
pkg_check_modules(PFAD_GRPC REQUIRED IMPORTED_TARGET grpc++ protobuf)
find_program(PFAD_PROTOC protoc REQUIRED)
find_program(PFAD_GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)
find_path(PFAD_PROTOBUF_INCLUDE google/protobuf/any.proto REQUIRED)

set(_sc_dir "${PROJECT_BINARY_DIR}/spark_connect")
set(_sc_set "${_sc_dir}/spark_connect.pb")
file(MAKE_DIRECTORY "${_sc_dir}/gen")
execute_process(
  COMMAND "${PFAD_PYTHON}" -c "import importlib.util, os; print(os.path.dirname(importlib.util.find_spec('pyspark').origin))"
  OUTPUT_VARIABLE _pyspark_dir RESULT_VARIABLE _rc OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT _rc EQUAL 0 OR NOT _pyspark_dir)
  message(FATAL_ERROR "pyspark is not installed in ${PFAD_PYTHON}: run scripts/setup.sh test "
                      "(the Spark Connect protocol is taken from it)")
endif()
file(GLOB _pb2_modules "${_pyspark_dir}/sql/connect/proto/*_pb2.py")
# Re-configure when pyspark (hence the protocol) changes.
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_pb2_modules}
             "${PROJECT_SOURCE_DIR}/cmake/spark_connect_descriptors.py")
execute_process(
  COMMAND "${PFAD_PYTHON}" "${PROJECT_SOURCE_DIR}/cmake/spark_connect_descriptors.py"
          --pyspark-dir "${_pyspark_dir}" "${_sc_dir}/spark.pb"
  OUTPUT_VARIABLE _wkt_imports RESULT_VARIABLE _rc OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "could not extract the Spark Connect descriptors from ${_pyspark_dir}")
endif()
# The well-known types the protocol imports (any.proto, timestamp.proto), from Debian's protoc.
string(REPLACE "\n" ";" _wkt_imports "${_wkt_imports}")
execute_process(
  COMMAND "${PFAD_PROTOC}" -I "${PFAD_PROTOBUF_INCLUDE}" --include_imports
          "--descriptor_set_out=${_sc_dir}/wkt.pb" ${_wkt_imports}
  RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "protoc could not describe ${_wkt_imports}")
endif()
# Two serialized FileDescriptorSets concatenated are one (repeated field).
execute_process(COMMAND "${PFAD_PYTHON}" -c
  "import sys; open(sys.argv[1], 'wb').write(open(sys.argv[2], 'rb').read() + open(sys.argv[3], 'rb').read())"
  "${_sc_set}.tmp" "${_sc_dir}/spark.pb" "${_sc_dir}/wkt.pb" RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "could not write ${_sc_set}")
endif()
file(COPY_FILE "${_sc_set}.tmp" "${_sc_set}" ONLY_IF_DIFFERENT)

set(_protos "")
set(_sources "")
foreach(_module ${_pb2_modules})
  get_filename_component(_name "${_module}" NAME)
  string(REGEX REPLACE "_pb2\\.py$" "" _name "${_name}")
  list(APPEND _protos "spark/connect/${_name}.proto")
  list(APPEND _sources "${_sc_dir}/gen/spark/connect/${_name}.pb.cc" "${_sc_dir}/gen/spark/connect/${_name}.grpc.pb.cc")
endforeach()
add_custom_command(
  OUTPUT ${_sources}
  COMMAND "${PFAD_PROTOC}" "--descriptor_set_in=${_sc_set}" "--cpp_out=${_sc_dir}/gen" "--grpc_out=${_sc_dir}/gen"
          "--plugin=protoc-gen-grpc=${PFAD_GRPC_CPP_PLUGIN}" ${_protos}
  DEPENDS "${_sc_set}"
  COMMENT "Generating the Spark Connect client from pyspark's protocol"
  VERBATIM)

add_library(pfad_spark_connect_proto STATIC ${_sources})
target_include_directories(pfad_spark_connect_proto SYSTEM PUBLIC "${_sc_dir}/gen")
target_link_libraries(pfad_spark_connect_proto PUBLIC PkgConfig::PFAD_GRPC)
# Generated code: no warnings of ours, no sanitizers, no debug info (it is large and not ours).
target_compile_options(pfad_spark_connect_proto PRIVATE -w -g0 $<$<CONFIG:Debug>:-fno-sanitize=all>)
add_library(pfad::spark_connect_proto ALIAS pfad_spark_connect_proto)
