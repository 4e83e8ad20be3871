"""The censorship lab: scenario files, the simulator, the netns lab and the scorecard."""
