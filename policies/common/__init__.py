"""Parts shared by the algorithms: plain torch networks, pure math, action distributions."""
