from datarobot_drum.drum.resource_monitor import ResourceMonitor


class PredictionServer:
    def __init__(self):
        self._resource_monitor = ResourceMonitor(monitor_current_process=True)
