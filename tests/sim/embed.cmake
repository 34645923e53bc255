# cmake -DIN=file -DOUT=file.c -P embed.cmake
# Writes sim_persons_json[] / sim_persons_json_len for the given file.
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" hexlen)
math(EXPR len "${hexlen} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){16})" "\\1\n    " bytes
       "${bytes}")
file(WRITE "${OUT}"
  "/* Generated from persons.json by embed.cmake. Do not edit. */\n"
  "#include <stddef.h>\n\n"
  "extern const unsigned char sim_persons_json[];\n"
  "extern const size_t sim_persons_json_len;\n\n"
  "const unsigned char sim_persons_json[] = {\n    ${bytes}0x00};\n"
  "const size_t sim_persons_json_len = ${len};\n")
