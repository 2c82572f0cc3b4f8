# The commands of the README. Each installs what it needs when missing.
#   make run   the release build, as deployed (optimised, precompressed)
#   make dev   the debug build: quicker to rebuild while changing code
#   make test  every test
.PHONY: run dev test
run:
	bash .ci/serve
dev:
	bash .ci/serve --dev
test:
	bash .ci/test
