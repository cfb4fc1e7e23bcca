# One line per test binary: tb_test(KIND NAME DEPS <modules>).
tb_test(unit config DEPS tb_config)
tb_test(integration harness DEPS tb_core)
tb_test(unit model DEPS tb_model)
tb_test(unit io DEPS tb_io)
tb_test(unit web DEPS tb_web)
tb_test(unit auth DEPS tb_auth)
