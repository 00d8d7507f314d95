# Initial-cache script for the seL4 kernel build (`cmake -C`).
#
# Turns cmake/platform.conf into the kernel's settings so that the kernel,
# taskman's boot check and the QEMU command line cannot disagree.

file(STRINGS "${CMAKE_CURRENT_LIST_DIR}/platform.conf" qsoe_lines REGEX "^[A-Z0-9_]+=")
foreach(qsoe_line IN LISTS qsoe_lines)
    string(REGEX REPLACE "=.*$" "" qsoe_key "${qsoe_line}")
    string(REGEX REPLACE "^[^=]*=" "" qsoe_value "${qsoe_line}")
    set(QSOE_${qsoe_key} "${qsoe_value}")
endforeach()

set(CROSS_COMPILER_PREFIX "riscv64-linux-gnu-" CACHE STRING "")
set(KernelPlatform "${QSOE_PLATFORM}" CACHE STRING "")
set(KernelSel4Arch "${QSOE_SEL4_ARCH}" CACHE STRING "")
set(KernelIsMCS "${QSOE_MCS}" CACHE BOOL "")
# The kernel's device tree is dumped from QEMU at configure time with this
# much memory; QEMU must later boot with the same -m.
set(QEMU_MEMORY "${QSOE_MEMORY_MIB}" CACHE STRING "")
# A verification build silently turns printing off.
set(KernelVerificationBuild OFF CACHE BOOL "")
# The flavour (`cmake -DQSOE_FLAVOUR=debug|release|exact`): only a debug
# kernel has the debug system calls and prints; the exact one is a release
# kernel on fewer harts.
set(qsoe_harts "${QSOE_HARTS}")
if(QSOE_FLAVOUR STREQUAL "debug")
    set(qsoe_debug ON)
elseif(QSOE_FLAVOUR STREQUAL "release")
    set(qsoe_debug OFF)
elseif(QSOE_FLAVOUR STREQUAL "exact")
    set(qsoe_debug OFF)
    set(qsoe_harts "${QSOE_EXACT_HARTS}")
else()
    message(FATAL_ERROR "QSOE_FLAVOUR must be debug, release or exact, not '${QSOE_FLAVOUR}'")
endif()
set(KernelMaxNumNodes "${qsoe_harts}" CACHE STRING "")
set(KernelDebugBuild "${qsoe_debug}" CACHE BOOL "")
set(KernelPrinting "${qsoe_debug}" CACHE BOOL "")
# No IPC fastpath. Since 16.0.0 an MCS kernel links endpoint queues through
# the same two TCB fields as the scheduler's queues, and the Call fastpath
# takes its receiver off the head of the endpoint queue without clearing the
# receiver's link to the thread behind it. With two or more threads waiting
# on one endpoint (any thread pool of a resource manager), that stale link
# later splices the receiver into a queue it already left, and the kernel
# dereferences NULL in tcb_queue_remove: one process could halt the machine.
# The slowpath unlinks properly. See docs/performance.md for the cost.
set(KernelFastpath OFF CACHE BOOL "")
