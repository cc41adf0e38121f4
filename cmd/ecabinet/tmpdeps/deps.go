package tmpdeps

import (
	_ "github.com/ecabinet/ecabinet/gateway/tmpdeps"
	_ "github.com/ecabinet/ecabinet/services/meetings/tmpdeps"
	_ "github.com/ecabinet/ecabinet/services/documents/tmpdeps"
	_ "github.com/ecabinet/ecabinet/services/voting/tmpdeps"
	_ "github.com/ecabinet/ecabinet/services/video/tmpdeps"
)
