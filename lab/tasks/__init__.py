"""What a task is: the modes, the prompts a model is sent, and strict scoring of its replies."""
