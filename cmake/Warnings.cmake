# Warnings for our own targets only (generated code included).
function(samsa_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter)
endfunction()
