# The two commands of the README. Both install what they need when missing.
.PHONY: run test
run:
	bash .ci/serve
test:
	bash .ci/test
