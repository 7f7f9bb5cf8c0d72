module github.com/modhashes/modhashes

go 1.22

require (
	github.com/klauspost/compress v1.18.0
	github.com/spf13/pflag v1.0.7
	github.com/ulikunitz/xz v0.5.17
)
