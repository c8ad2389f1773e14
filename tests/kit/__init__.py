"""The test kit: topologies built by the kernel (`topologies`) and test doubles (`stubs`)."""
