class ResourceMonitor:
    def __init__(self, monitor_current_process=False):
        self.monitor_current_process = monitor_current_process

    def collect_resources_info(self):
        return {"from": "fake DRUM"}
