# The Spark Connect client's protocol, generated at build time from the installed pyspark:
# its *_pb2.py modules embed the serialized .proto descriptors (pyspark ships no .proto
# files); cmake/spark_connect_descriptors.py turns them into a FileDescriptorSet, Debian's
# protoc + grpc_cpp_plugin generate C++ from it into the build dir. Nothing is copied into
# the repository, so the client always speaks the protocol of the pinned pyspark.
# Defines pfad::spark_connect_proto (generated messages + gRPC stubs, Debian protobuf/gRPC).
#
# Only what the client uses is generated: the files src/pfad/spark includes (_sc_roots) and
# their imports, without the ML and declarative-pipeline files (_sc_pruned; their fields
# in base/commands are dropped and arrive as unknown fields), all with
# `optimize_for = CODE_SIZE`, and gRPC stubs only for the file that declares the service
# (docs/BENCHMARKS.md, "Build time").
#
# Protobuf ABI: only Debian's libprotobuf/libgrpc++ are linked. The pyarrow wheel's
# libarrow_flight / libarrow_substrait carry their own protobuf and gRPC and are never
# linked into pfad; libarrow itself keeps its bundled protobuf hidden (its only exported
# google::protobuf symbols are template instances over its OpenTelemetry types).

# Debian's gRPC CMake config (it finds Protobuf and absl too). Not pkg-config: grpc++.pc
# pulls in ~100 absl .pc files, and pkg_check_modules runs pkgconf 16 times over them,
# which was most of a fresh configure's time.
find_package(gRPC CONFIG REQUIRED)
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
# The protocol files src/pfad/spark includes, and those it never uses.
set(_sc_roots spark/connect/base.proto)
set(_sc_pruned spark/connect/ml.proto spark/connect/pipelines.proto)
set(_sc_args "")
foreach(_f ${_sc_roots})
  list(APPEND _sc_args --root "${_f}")
endforeach()
foreach(_f ${_sc_pruned})
  list(APPEND _sc_args --prune "${_f}")
endforeach()
execute_process(
  COMMAND "${PFAD_PYTHON}" "${PROJECT_SOURCE_DIR}/cmake/spark_connect_descriptors.py"
          --pyspark-dir "${_pyspark_dir}" ${_sc_args} "${_sc_dir}/spark.pb"
  OUTPUT_VARIABLE _sc_files ERROR_VARIABLE _sc_log RESULT_VARIABLE _rc
  OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "could not extract the Spark Connect descriptors from ${_pyspark_dir}: ${_sc_log}")
endif()
string(REPLACE "\n" ";" _sc_files "${_sc_files}")
set(_protos ${_sc_files})
list(FILTER _protos INCLUDE REGEX "^spark/connect/")
# The well-known types the protocol imports (any.proto, ...), from Debian's protoc.
set(_wkt_imports ${_sc_files})
list(FILTER _wkt_imports INCLUDE REGEX "^google/protobuf/")
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

set(_sources "")
foreach(_proto ${_protos})
  string(REGEX REPLACE "\\.proto$" ".pb.cc" _cc "${_proto}")
  list(APPEND _sources "${_sc_dir}/gen/${_cc}")
endforeach()
# The services (only base.proto declares one): a .grpc.pb.cc of a file without services is
# empty but still compiles gRPC's headers.
set(_grpc_sources "")
foreach(_proto ${_sc_roots})
  string(REGEX REPLACE "\\.proto$" ".grpc.pb.cc" _cc "${_proto}")
  list(APPEND _grpc_sources "${_sc_dir}/gen/${_cc}")
endforeach()
add_custom_command(
  OUTPUT ${_sources} ${_grpc_sources}
  COMMAND "${PFAD_PROTOC}" "--descriptor_set_in=${_sc_set}" "--cpp_out=${_sc_dir}/gen" ${_protos}
  COMMAND "${PFAD_PROTOC}" "--descriptor_set_in=${_sc_set}" "--grpc_out=${_sc_dir}/gen"
          "--plugin=protoc-gen-grpc=${PFAD_GRPC_CPP_PLUGIN}" ${_sc_roots}
  DEPENDS "${_sc_set}"
  COMMENT "Generating the Spark Connect client from pyspark's protocol"
  VERBATIM)

add_library(pfad_spark_connect_proto STATIC ${_sources} ${_grpc_sources})
target_include_directories(pfad_spark_connect_proto SYSTEM PUBLIC "${_sc_dir}/gen")
target_link_libraries(pfad_spark_connect_proto PUBLIC gRPC::grpc++)
# Generated code: no warnings of ours, no sanitizers, no debug info (it is large and not ours).
target_compile_options(pfad_spark_connect_proto PRIVATE -w -g0 $<$<CONFIG:Debug>:-fno-sanitize=all>)
# Under ThreadSanitizer protobuf's map_field.h gives MapFieldBase two more members
# (__SANITIZE_THREAD__), so code of ours built with -fsanitize=thread would disagree on the
# layout with the generated code (built without sanitizers, above) and Debian's libprotobuf
# (a SEGV in a message's destructor). Whoever includes these headers does not see the macro.
target_compile_options(pfad_spark_connect_proto INTERFACE -U__SANITIZE_THREAD__)
# Every generated file includes protobuf's runtime and most include base.pb.h's imports:
# parse them once. <...>, not an absolute path: the path would be in the generated
# cmake_pch.hxx, and ccache could not share the result between clones.
target_precompile_headers(pfad_spark_connect_proto PRIVATE <spark/connect/base.pb.h>
  <google/protobuf/generated_message_reflection.h> <google/protobuf/reflection_ops.h>
  <google/protobuf/wire_format.h>)
add_library(pfad::spark_connect_proto ALIAS pfad_spark_connect_proto)
