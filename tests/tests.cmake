# One line per test binary: tb_test(KIND NAME DEPS <modules>).
tb_test(unit config DEPS tb_config)
tb_test(integration harness DEPS tb_core)
