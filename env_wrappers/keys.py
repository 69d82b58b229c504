"""Keys of the per-agent observation Dict that every wrapped env produces."""

OBS_KEY = "obs"
STATE_KEY = "state"
MASK_KEY = "action_mask"
ALIVE_KEY = "alive"
SUB_POLICY_KEY = "sub_policy"
